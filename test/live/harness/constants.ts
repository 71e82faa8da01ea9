/** Constants the live tests share (the EC2 twin's scenarios, bench/failover.ts). */

/** Application role the tests create and connect as through the endpoints. */
export const APP_USER = { name: "app", password: "app-live-harness-password" } as const;
