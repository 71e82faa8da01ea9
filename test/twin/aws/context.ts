/**
 * What a service handler of the twin gets for one authenticated call: the caller, the
 * transport, and `authorize` / `kmsOnBehalf`, which throw the service's refusal.
 */
import type { AuthzDecision, CallerIdentity } from "./authorize";
import type { Protocol } from "./errors";
import type { TwinWorld } from "./world";

export interface CallContext {
  readonly world: TwinWorld;
  readonly caller: CallerIdentity;
  readonly protocol: Protocol;
  /** The request came over TLS (aws:SecureTransport). */
  readonly secure: boolean;
  readonly sourceIp: string;
  readonly requestId: string;
  /**
   * Authorizes `action` on `resource` with the caller's identity policies, `resourcePolicy`
   * and the global context keys plus `context`; throws the protocol's AccessDenied otherwise.
   * @returns the decision (also logged)
   */
  authorize(action: string, resource: string, opts?: { resourcePolicy?: string; context?: Record<string, string | string[]> }): Promise<AuthzDecision>;
  /**
   * The KMS call a service makes on the caller's behalf (kms:ViaService = `<service>.<region>.amazonaws.com`,
   * the caller's identity policies and the key policy; KMS encryption context keys). Throws
   * `refusal(decision)` when denied.
   */
  kmsOnBehalf(
    keyArn: string,
    action: "kms:Decrypt" | "kms:GenerateDataKey" | "kms:CreateGrant",
    service: "s3" | "secretsmanager" | "ec2",
    context: Record<string, string>,
    refusal: (d: AuthzDecision) => Error,
  ): Promise<void>;
}
