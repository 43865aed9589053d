/**
 * The last part of a process's output, kept for error messages: the end of an
 * install log is where the reason is, and a whole log does not belong in an error.
 */
export class OutputTail {
  private text = "";

  constructor(
    /** @default 8192 characters */
    private readonly maxChars = 8192,
  ) {}

  push(chunk: string): void {
    this.text += chunk;
    // Trim only when well past the limit, so a stream of small chunks does not
    // copy the whole buffer on every push.
    if (this.text.length > this.maxChars * 2) this.text = this.text.slice(-this.maxChars);
  }

  toString(): string {
    return this.text.length > this.maxChars ? this.text.slice(-this.maxChars) : this.text;
  }
}
