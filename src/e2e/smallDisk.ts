// A small real file system (a tmpfs of a fixed size) mounted on a node's data dir, which a test fills
// to the last byte and frees again: the most honest full disk, ENOSPC from the kernel wherever the node
// writes next. Needs Linux and the right to mount (root, or CAP_SYS_ADMIN); `probeSmallDisk` says whether.
import { execFile, execFileSync } from "node:child_process";
import { cp, mkdir, mkdtemp, open, readdir, rename, rm, statfs, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { assert } from "../shared/assert.js";

const run = promisify(execFile);

/** A mount or unmount that takes longer is stuck: give up on it. */
const mountTimeoutMs = 10_000;
/** The ballast is written in chunks of this much; the last write is short, then ENOSPC. */
const ballastChunkBytes = 1024 * 1024;
export const ballastFileName = "BALLAST";

/** Mount points still mounted by this process, unmounted (lazily) should it exit without doing so. */
const mounted = new Set<string>();
let exitHookInstalled = false;

/** The disk cannot be mounted here (not Linux, not root, no mount): `reason` says why. */
export class SmallDiskUnavailableError extends Error {
  override readonly name = "SmallDiskUnavailableError";
  readonly code = "SMALL_DISK_UNAVAILABLE";
}

export interface FillReport {
  readonly ballastBytes: number;
  /** What the file system reports free after the fill: 0 unless something was freed meanwhile. */
  readonly freeBytes: number;
}

/**
 * A tmpfs of `sizeBytes` on `dir`. Fill it with `fill()` (a ballast file written until ENOSPC), free it
 * with `free()`, and always `unmount()` it, also on failure: a leftover mount outlives the run. Should
 * the process exit first (a second Ctrl-C, an uncaught error), an exit hook unmounts it lazily.
 */
export class SmallDisk {
  private filled = false;

  private constructor(
    readonly dir: string,
    readonly sizeBytes: number,
  ) {}

  /** Mounts a tmpfs of `sizeBytes` on `dir` (created if needed, and expected empty); throws `SmallDiskUnavailableError`. */
  static async mount(dir: string, sizeBytes: number): Promise<SmallDisk> {
    assert(Number.isSafeInteger(sizeBytes) && sizeBytes >= 4096, `a small disk takes at least one page: current value is ${sizeBytes}`);
    if (process.platform !== "linux") throw new SmallDiskUnavailableError(`Cannot mount a small disk as this is ${process.platform}, not Linux (tmpfs)`);
    await mkdir(dir, { recursive: true });
    try {
      await run("mount", ["-t", "tmpfs", "-o", `size=${sizeBytes},mode=0755`, "tmpfs", dir], { timeout: mountTimeoutMs });
    } catch (error) {
      // mount's first line says why ("must be superuser to use mount"); the rest is advice about dmesg.
      const why = (error as { stderr?: string }).stderr?.trim().split("\n")[0];
      throw new SmallDiskUnavailableError(`Cannot mount a small disk (tmpfs) on ${dir} as mount failed: ${why !== undefined && why !== "" ? why : String(error)}`);
    }
    installExitHook();
    mounted.add(dir);
    return new SmallDisk(dir, sizeBytes);
  }

  /** Writes the ballast until the file system refuses (ENOSPC), leaving no byte free. */
  async fill(): Promise<FillReport> {
    const handle = await open(join(this.dir, ballastFileName), "a");
    const chunk = Buffer.alloc(ballastChunkBytes);
    let ballastBytes = 0;
    try {
      // Whole chunks, then one short write, then ENOSPC: bounded by the disk's size.
      const writesCountMax = Math.ceil(this.sizeBytes / ballastChunkBytes) + 2;
      for (let i = 0; i < writesCountMax; i++) {
        const { bytesWritten } = await handle.write(chunk, 0, chunk.length);
        ballastBytes += bytesWritten;
      }
      throw new Error(`Cannot fill ${this.dir}: ${ballastBytes} bytes written and no ENOSPC`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
    } finally {
      await handle.close();
    }
    this.filled = true;
    const stats = await statfs(this.dir);
    return { ballastBytes, freeBytes: stats.bavail * stats.bsize };
  }

  /** Deletes the ballast: the node can write again. */
  async free(): Promise<void> {
    this.filled = false;
    await unlink(join(this.dir, ballastFileName)).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    });
  }

  isFilled(): boolean {
    return this.filled;
  }

  /**
   * Unmounts, once every process using it has stopped. With `keepContents`, what the node left (but the
   * ballast) is copied out first and put back in the directory underneath, for a post-mortem.
   */
  async unmount(options: { readonly keepContents?: boolean } = {}): Promise<void> {
    if (!mounted.has(this.dir)) return;
    let saved: string | undefined;
    if (options.keepContents === true) {
      saved = await mkdtemp(join(tmpdir(), "yakt-small-disk-"));
      await cp(this.dir, saved, { recursive: true, filter: (source) => !source.endsWith(`/${ballastFileName}`) });
    }
    await unmountDir(this.dir);
    mounted.delete(this.dir);
    if (saved !== undefined) {
      for (const name of await readdir(saved)) await rename(join(saved, name), join(this.dir, name)).catch(() => cp(join(saved, name), join(this.dir, name), { recursive: true }));
      await rm(saved, { recursive: true, force: true });
    }
  }
}

/** Undefined when a small disk can be mounted here, else why not (tries one on a temp dir). */
export async function probeSmallDisk(): Promise<string | undefined> {
  const dir = await mkdtemp(join(tmpdir(), "yakt-small-disk-probe-"));
  try {
    const disk = await SmallDisk.mount(dir, 1024 * 1024);
    await disk.unmount();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function unmountDir(dir: string): Promise<void> {
  try {
    await run("umount", [dir], { timeout: mountTimeoutMs });
  } catch {
    // Still busy (a process that has not quite let go): detach now, freed once the last user goes.
    await run("umount", ["-l", dir], { timeout: mountTimeoutMs });
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous by necessity: an 'exit' listener cannot wait. Lazy, as the children may still be dying.
  process.on("exit", () => {
    for (const dir of mounted) {
      try {
        execFileSync("umount", ["-l", dir], { timeout: mountTimeoutMs, stdio: "ignore" });
      } catch {
        // Nothing more can be done from an exit hook; the path is in the run's log.
      }
    }
  });
}
