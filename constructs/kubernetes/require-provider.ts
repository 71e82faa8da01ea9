/**
 * Loaded first by the `cdktf-managed-postgres/kubernetes` entry point: `@cdktf/provider-kubernetes`
 * is an optional peer dependency (AWS-only users do not install it), so its absence is
 * reported here, in one sentence naming the package and the install command, instead of as a
 * bare "Cannot find module" from deep inside a construct.
 */

/** The optional peer dependency the Kubernetes constructs need, and the range they are tested with. */
export const KUBERNETES_PROVIDER_PACKAGE = "@cdktf/provider-kubernetes";
/** Supported major version range of {@link KUBERNETES_PROVIDER_PACKAGE}. */
export const KUBERNETES_PROVIDER_RANGE = "^12.0.0";

/**
 * @throws Error when `@cdktf/provider-kubernetes` cannot be resolved from this package
 */
export function requireKubernetesProvider(resolve: (id: string) => string = require.resolve): void {
  try {
    resolve(`${KUBERNETES_PROVIDER_PACKAGE}/lib/provider`);
  } catch {
    throw new Error(
      `cdktf-managed-postgres/kubernetes needs the optional peer dependency ${KUBERNETES_PROVIDER_PACKAGE} (${KUBERNETES_PROVIDER_RANGE}), which is not installed. ` +
        `Install it with: npm install ${KUBERNETES_PROVIDER_PACKAGE}@${KUBERNETES_PROVIDER_RANGE} ` +
        `(CDK Terrain: npm install ${KUBERNETES_PROVIDER_PACKAGE}@npm:@cdktn/provider-kubernetes). ` +
        `AWS-only stacks import "cdktf-managed-postgres" or "cdktf-managed-postgres/aws" instead.`,
    );
  }
}

requireKubernetesProvider();
