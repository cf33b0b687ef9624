/**
 * Programs the service and the tests run (Java, Maven, Go, Python), looked up on PATH before they are
 * started, so that a missing one ends with one line that says what to install instead of an
 * unhandled `spawn java ENOENT` stack trace.
 */
import { accessSync, constants } from "node:fs";
import path from "node:path";
import process from "node:process";

export interface RequiredTool {
  /** The command looked up on PATH. */
  command: string;
  /** What to call it in the message. */
  label: string;
  /** How to install it, in a few words. */
  install: string;
}

export const JAVA: RequiredTool = {
  command: "java",
  label: "Java 17 or newer",
  install: "a JDK 17+ (Debian/Ubuntu: apt-get install openjdk-17-jdk-headless; macOS: brew install openjdk@17)",
};
export const JAVAC: RequiredTool = { ...JAVA, command: "javac" };
export const MAVEN: RequiredTool = {
  command: "mvn",
  label: "Maven",
  install: "Maven (Debian/Ubuntu: apt-get install maven; macOS: brew install maven)",
};
export const GO: RequiredTool = {
  command: "go",
  label: "Go",
  install: "Go 1.24+ (https://go.dev/doc/install; Debian/Ubuntu: apt-get install golang)",
};
export const PYTHON: RequiredTool = {
  command: "python3",
  label: "Python 3.11 or newer",
  install: "Python 3.11+ with its venv module (Debian/Ubuntu: apt-get install python3 python3-venv)",
};

/** A missing program: its message is the one line to show, without a stack trace. */
export class MissingToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MissingToolError";
  }
}

/** The executable `command` resolves to on PATH, or undefined. */
export function findOnPath(command: string, searchPath = process.env.PATH ?? ""): string | undefined {
  const extensions = process.platform === "win32" ? ["", ".exe", ".cmd", ".bat"] : [""];
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    for (const extension of extensions) {
      const candidate = path.join(dir, command + extension);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/**
 * Throws a MissingToolError naming every missing tool and how to install it, in one line:
 * "<purpose> needs Java 17 or newer and Maven, not found on PATH: install a JDK 17+ (…) and Maven (…)."
 */
export function requireTools(tools: RequiredTool[], purpose: string, alternative?: string): void {
  const absent = tools.filter((tool) => !findOnPath(tool.command));
  // java and javac share a label: name it once.
  const missing = absent.filter((tool, index) => absent.findIndex((t) => t.label === tool.label) === index);
  if (missing.length === 0) return;
  const labels = missing.map((tool) => tool.label).join(" and ");
  const installs = missing.map((tool) => tool.install).join(" and ");
  throw new MissingToolError(
    `${purpose} needs ${labels}, not found on PATH: install ${installs}${alternative ? `, or ${alternative}` : ""}.`,
  );
}
