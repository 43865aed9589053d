/**
 * The metadata key a controller sets on a refusal that retrying cannot fix, and
 * its values: the agent acts on the mark (a removed host stops its services and
 * exits), never on the text of the message.
 */
export const REFUSAL_KEY = "berth-refusal";
export const REFUSAL_HOST_REMOVED = "host-removed";
