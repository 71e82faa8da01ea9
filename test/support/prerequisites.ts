import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** What a test file needs from the machine. */
export interface Prerequisites {
  /** Commands that must be on PATH, e.g. `terraform`, `jq`. */
  readonly commands?: readonly string[];
  /** Absolute paths that must exist, e.g. `/usr/lib/postgresql/15/bin/initdb`. */
  readonly files?: readonly string[];
  /** Whether the test must run as root (network namespaces, runuser). */
  readonly root?: boolean;
}

/** True when `command` is on PATH. */
export function hasCommand(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

/**
 * Fails loudly when the machine lacks what a test needs: these tests never skip, so a CI
 * machine without the Debian packages goes red instead of silently passing less. `.ci/run`
 * installs everything listed here.
 * @throws Error naming every missing command, file or privilege and how to get it
 */
export function requirePrerequisites(what: Prerequisites): void {
  const missing: string[] = [];
  for (const c of what.commands ?? []) if (!hasCommand(c)) missing.push(`command \`${c}\``);
  for (const f of what.files ?? []) if (!existsSync(f)) missing.push(`file ${f}`);
  if (what.root && process.getuid?.() !== 0) missing.push("root privileges");
  if (missing.length > 0) {
    throw new Error(
      `This test needs ${missing.join(", ")}. Run it as root after installing the Debian packages .ci/run installs ` +
        "(apt-get install -y … as listed there).",
    );
  }
}
