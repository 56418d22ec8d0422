/**
 * Debian package access for the corpus tool: installed versions (`dpkg-query`), installing what
 * is missing (`apt-get update` once, then `apt-get install`), and the files a package owns.
 *
 * @module
 */

/** Runs a command and returns its stdout (or inherits stdio); throws with stderr on failure. */
export async function runCommand(cmd: string, args: string[], inherit = false): Promise<string> {
  const p = new Deno.Command(cmd, {
    args,
    stdout: inherit ? "inherit" : "piped",
    stderr: inherit ? "inherit" : "piped",
    env: { DEBIAN_FRONTEND: "noninteractive" },
  });
  const r = await p.output();
  if (!r.success) {
    const err = inherit ? "" : new TextDecoder().decode(r.stderr).trim();
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.code})${err ? `: ${err}` : ""}`);
  }
  return inherit ? "" : new TextDecoder().decode(r.stdout);
}

/** Installed version of a package, or `null` when it is not installed. */
async function packageVersion(pkg: string): Promise<string | null> {
  const r = await new Deno.Command("dpkg-query", {
    args: ["-W", "-f=${Status}\t${Version}", pkg],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!r.success) return null;
  const [status, version] = new TextDecoder().decode(r.stdout).split("\t");
  return status === "install ok installed" ? version : null;
}

async function packageVersions(pkgs: string[]): Promise<Map<string, string | null>> {
  const m = new Map<string, string | null>();
  for (const p of pkgs) m.set(p, await packageVersion(p));
  return m;
}

/**
 * Returns the installed versions of Debian packages, installing the missing ones first when
 * `install` is set (needs root), or failing with the `apt-get` command to run.
 */
export async function ensureDebianPackages(
  pkgs: string[],
  install: boolean,
  log: (line: string) => void,
): Promise<Map<string, string>> {
  let versions = await packageVersions(pkgs);
  const missing = pkgs.filter((p) => versions.get(p) === null);
  if (missing.length > 0) {
    if (!install) {
      throw new Error(
        `Missing Debian packages: ${missing.join(", ")}. Install them with ` +
          `\`apt-get install -y --no-install-recommends ${missing.join(" ")}\` ` +
          `or run \`deno task corpus\` without --no-install.`,
      );
    }
    if (Deno.uid?.() !== 0) {
      throw new Error(
        `Missing Debian packages: ${missing.join(", ")}, and installing them needs root ` +
          `(run as root, or install them first and pass --no-install).`,
      );
    }
    log(`corpus: installing ${missing.join(" ")} (apt-get update, then install)`);
    const t0 = performance.now();
    await runCommand("apt-get", ["update", "-q"], true);
    // A documentation package must never take a runtime away: Debian's nodejs-doc conflicts
    // with Node.js from NodeSource, and a plain install removed the machine's node and npm.
    const plan = await runCommand(
      "apt-get",
      ["install", "-s", "-q", "--no-install-recommends", ...missing],
    );
    const removed = [...plan.matchAll(/^Remv (\S+)/gm)].map((m) => m[1]);
    if (removed.length) {
      throw new Error(
        `Installing ${missing.join(", ")} would remove ${removed.join(", ")}; refusing. ` +
          `Install the packages yourself (or leave those sources out with --sources) and pass ` +
          `--no-install.`,
      );
    }
    await runCommand(
      "apt-get",
      ["install", "-y", "-q", "--no-install-recommends", ...missing],
      true,
    );
    log(`corpus: installed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    versions = await packageVersions(pkgs);
    const still = pkgs.filter((p) => versions.get(p) === null);
    if (still.length) throw new Error(`apt-get did not install: ${still.join(", ")}`);
  }
  return versions as Map<string, string>;
}

/**
 * The regular files (no symlinks: man page aliases and redirects are duplicates) that the
 * packages own and whose absolute path matches `pattern`, sorted.
 */
export async function debianPackageFiles(pkgs: string[], pattern: RegExp): Promise<string[]> {
  const files = new Set<string>();
  for (const pkg of pkgs) {
    for (const line of (await runCommand("dpkg-query", ["-L", pkg])).split("\n")) {
      if (!pattern.test(line)) continue;
      const st = await Deno.lstat(line).catch(() => null);
      if (st?.isFile) files.add(line);
    }
  }
  return [...files].sort();
}
