/**
 * How the controller's kept text of a slot's last crash loop begins
 * (controller/reschedule/policy.ts failedRunsText): `berth status` tells it from install
 * output by it. The console (ui/src/pages/services.tsx) spells it out, as it imports no
 * runtime code from shared/.
 */
export const LAST_FAILURE_PREFIX = "[berth] last failure on ";
