import { readFile, realpath } from "node:fs/promises";
import path from "node:path";

export interface MountInfo {
  mountPoint: string;
  fsType: string;
  source: string;
  /** A filesystem other machines can mount too (NFS, SMB, Ceph, …), by its type. */
  network: boolean;
}

/** Filesystem types that are shared between machines (cluster and network filesystems). */
export const NETWORK_FS_TYPES: ReadonlySet<string> = new Set([
  "nfs",
  "nfs4",
  "cifs",
  "smb3",
  "smbfs",
  "ceph",
  "fuse.ceph",
  "fuse.cephfs",
  "glusterfs",
  "fuse.glusterfs",
  "lustre",
  "gpfs",
  "beegfs",
  "ocfs2",
  "gfs2",
  "fuse.juicefs",
  "fuse.sshfs",
  "9p",
  "virtiofs",
]);

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`). */
function unescapeMountPath(value: string): string {
  return value.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** Parses /proc/self/mountinfo (proc(5)): `id parent maj:min root mountpoint opts [optional…] - fstype source superopts`. */
export function parseMountInfo(text: string): Omit<MountInfo, "network">[] {
  const mounts: Omit<MountInfo, "network">[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(" ");
    const separator = fields.indexOf("-");
    const mountPoint = fields[4];
    const fsType = fields[separator + 1];
    if (separator < 6 || !mountPoint || !fsType) continue;
    mounts.push({
      mountPoint: unescapeMountPath(mountPoint),
      fsType,
      source: unescapeMountPath(fields[separator + 2] ?? ""),
    });
  }
  return mounts;
}

function contains(mountPoint: string, target: string): boolean {
  if (mountPoint === "/") return true;
  return target === mountPoint || target.startsWith(`${mountPoint}/`);
}

/**
 * The mount a folder lives on: the longest mount point containing its real path (the last one
 * listed wins when mounts are stacked on the same point).
 */
export async function mountOf(folder: string, mountInfoText?: string): Promise<MountInfo | undefined> {
  const target = await realpath(path.resolve(folder));
  const text = mountInfoText ?? (await readFile("/proc/self/mountinfo", "utf8"));
  let best: Omit<MountInfo, "network"> | undefined;
  for (const mount of parseMountInfo(text)) {
    if (contains(mount.mountPoint, target) && mount.mountPoint.length >= (best?.mountPoint.length ?? 0)) {
      best = mount;
    }
  }
  return best ? { ...best, network: NETWORK_FS_TYPES.has(best.fsType) } : undefined;
}
