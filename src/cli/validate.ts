import type { Command } from "commander";
import { loadSpecFile, SpecValidationError } from "../cluster-spec";

/**
 * `managed-postgres validate <spec-file...>`: checks every file given, in order, and reports
 * each (a summary on stdout when valid, every problem on stderr when not). Exit 0 when every
 * file is valid, 1 when any is not (or cannot be read).
 */
export function registerValidate(program: Command): void {
  program
    .command("validate")
    .description("Validate cluster spec files (YAML or JSON) against the JSON Schema and the cross-field rules")
    .argument("<spec-file...>", "paths to postgres.yaml or .json specs; each is checked")
    .option("--require-network", "fail when a spec has no `network` section", false)
    .allowExcessArguments(false)
    .action((files: string[], opts: { requireNetwork: boolean }) => {
      for (const file of files) {
        try {
          const { spec } = loadSpecFile(file, { requireNetwork: opts.requireNetwork });
          process.stdout.write(
            `${file}: valid — cluster "${spec.name}", ${spec.deployment}, size ${spec.size}, ${spec.storageGiB} GiB, PostgreSQL ${spec.majorVersion}\n`,
          );
        } catch (err) {
          if (!(err instanceof SpecValidationError)) throw err;
          process.stderr.write(`${err.message}\n`);
          process.exitCode = 1;
        }
      }
    });
}
