/** Defaults of `berth lb`, written down where they are set (README, "Load balancers"). */

/** /metrics of `berth lb`, beside the controller's 9464 and the agent's 9465. */
export const DEFAULT_LB_METRICS_ADDR = "127.0.0.1:9466";
