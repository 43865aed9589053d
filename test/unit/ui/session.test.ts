import { describe, expect, it } from "vitest";
import { checkMutation, clearedCookie, csrfTokenFor, SESSION_COOKIE, sessionCookie, SignInCodes, tokenFromCookie } from "../../../controller/ui/session.js";

describe("console session cookie", () => {
  it("is HttpOnly, Secure, SameSite=Strict and host-only (__Host-), and reads back", () => {
    const c = sessionCookie("bt1.abc.def");
    expect(c.startsWith(`${SESSION_COOKIE}=`)).toBe(true);
    expect(SESSION_COOKIE.startsWith("__Host-")).toBe(true);
    for (const attr of ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"]) expect(c.split("; ")).toContain(attr);
    expect(c).not.toMatch(/Domain=/i);
    const value = c.split(";")[0]!;
    expect(tokenFromCookie(`a=1; ${value}; b=2`)).toBe("bt1.abc.def");
  });

  it("reads no token from a missing, empty or other cookie, and clears with Max-Age=0", () => {
    expect(tokenFromCookie(undefined)).toBeUndefined();
    expect(tokenFromCookie("")).toBeUndefined();
    expect(tokenFromCookie("berth-session=x")).toBeUndefined();
    expect(tokenFromCookie(`${SESSION_COOKIE}=`)).toBeUndefined();
    expect(clearedCookie()).toContain("Max-Age=0");
  });
});

describe("CSRF", () => {
  const token = "bt1.0123456789.secret";
  const good = { method: "POST", host: "127.0.0.1:7421", origin: "https://127.0.0.1:7421", csrf: csrfTokenFor(token), contentType: "application/json" };

  it("derives a token per berth token, which is not the token itself", () => {
    expect(csrfTokenFor(token)).toBe(csrfTokenFor(token));
    expect(csrfTokenFor(token)).not.toBe(csrfTokenFor(token + "x"));
    expect(csrfTokenFor(token)).not.toContain("secret");
  });

  it("lets a same-origin request with the right header through", () => {
    expect(checkMutation(good, token)).toBeUndefined();
    // Same-origin fetches may leave Origin out on some browsers; the header still decides.
    expect(checkMutation({ ...good, origin: undefined }, token)).toBeUndefined();
  });

  it("refuses a missing or wrong CSRF header, another origin, or a form post", () => {
    expect(checkMutation({ ...good, csrf: undefined }, token)).toMatch(/CSRF/);
    expect(checkMutation({ ...good, csrf: csrfTokenFor("other") }, token)).toMatch(/CSRF/);
    expect(checkMutation({ ...good, csrf: "short" }, token)).toMatch(/CSRF/);
    expect(checkMutation({ ...good, origin: "https://evil.example" }, token)).toMatch(/origin/);
    expect(checkMutation({ ...good, contentType: "application/x-www-form-urlencoded" }, token)).toMatch(/application\/json/);
  });
});

describe("one-time sign-in codes", () => {
  it("redeem once, within their time, for the token they were issued for", () => {
    let now = 1_000;
    const codes = new SignInCodes(() => now, { ttlMs: 60_000 });
    const a = codes.issue("tok-a");
    const b = codes.issue("tok-b");
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    expect(codes.redeem(a)).toBe("tok-a");
    expect(codes.redeem(a)).toBeUndefined();
    now += 60_001;
    expect(codes.redeem(b)).toBeUndefined();
    expect(codes.redeem("nonsense")).toBeUndefined();
  });

  it("keeps at most `max` codes: the oldest go first", () => {
    const codes = new SignInCodes(() => 0, { ttlMs: 60_000, max: 2 });
    const first = codes.issue("1");
    const second = codes.issue("2");
    const third = codes.issue("3");
    expect(codes.redeem(first)).toBeUndefined();
    expect(codes.redeem(second)).toBe("2");
    expect(codes.redeem(third)).toBe("3");
  });
});
