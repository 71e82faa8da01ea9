/**
 * Entry point of the services host (run inside its network namespace by the harness):
 * s3rver over TLS as the S3 endpoint and the AWS stand-in (IMDSv2, EC2, Secrets Manager).
 * Usage: node -r ts-node/register/transpile-only services-main.ts <config.json>
 * Prints "services ready" on stdout once both listen.
 */
import { readFileSync } from "fs";
import { AwsStandin, type StandinConfig } from "./aws-standin";

interface ServicesConfig {
  readonly address: string;
  readonly awsPort: number;
  readonly s3Port: number;
  readonly s3Directory: string;
  readonly bucket: string;
  readonly tlsKeyFile: string;
  readonly tlsCertFile: string;
  readonly standin: StandinConfig;
}

async function main(): Promise<void> {
  const config = JSON.parse(readFileSync(process.argv[2], "utf8")) as ServicesConfig;
  const standin = new AwsStandin(config.standin);
  await standin.listen(config.awsPort, config.address);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3rver = require("s3rver");
  const s3 = new S3rver({
    address: config.address,
    port: config.s3Port,
    directory: config.s3Directory,
    key: readFileSync(config.tlsKeyFile),
    cert: readFileSync(config.tlsCertFile),
    silent: true,
    configureBuckets: [{ name: config.bucket, configs: [] }],
  });
  await s3.run();
  process.stdout.write("services ready\n");
  const stop = async () => {
    await standin.close();
    await s3.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
}

main().catch((err) => {
  process.stderr.write(`services failed: ${String(err && (err as Error).stack ? (err as Error).stack : err)}\n`);
  process.exit(1);
});
