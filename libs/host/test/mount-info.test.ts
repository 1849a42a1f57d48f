import { temporaryDir } from "@wgp-farm/testing";
import { describe, expect, it } from "vitest";
import { mountOf, parseMountInfo } from "../src/index.js";

const MOUNTINFO = [
  "22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw",
  "95 22 0:50 / /mnt/farm\\040share rw,relatime shared:60 - nfs4 nas:/export/farm rw,vers=4.2",
  "96 95 0:51 / /mnt/farm\\040share/scratch rw,relatime - tmpfs tmpfs rw",
  "97 22 0:52 / /srv/ceph rw master:3 shared:9 - ceph 10.0.0.1:6789:/ rw,name=farm",
].join("\n");

describe("mount info", () => {
  it("parses mountinfo lines, optional fields and escaped spaces included", () => {
    expect(parseMountInfo(MOUNTINFO)).toEqual([
      { mountPoint: "/", fsType: "ext4", source: "/dev/nvme0n1p2" },
      { mountPoint: "/mnt/farm share", fsType: "nfs4", source: "nas:/export/farm" },
      { mountPoint: "/mnt/farm share/scratch", fsType: "tmpfs", source: "tmpfs" },
      { mountPoint: "/srv/ceph", fsType: "ceph", source: "10.0.0.1:6789:/" },
    ]);
  });

  it("finds the mount of this machine's temporary folder, and classifies network filesystems", async () => {
    const folder = await temporaryDir("mount");
    try {
      const real = await mountOf(folder.dir);
      expect(real?.fsType).toMatch(/\w/);
      expect(real?.mountPoint === "/" || folder.dir.startsWith(`${real?.mountPoint}/`)).toBe(true);

      // The same lookup against a farm host's table: a folder on the root disk is local.
      const onRoot = await mountOf(folder.dir, MOUNTINFO);
      expect(onRoot).toMatchObject({ mountPoint: "/", fsType: "ext4", network: false });
    } finally {
      await folder.remove();
    }
    const ceph = await mountOf("/", MOUNTINFO.replace("/srv/ceph", "/"));
    expect(ceph).toMatchObject({ fsType: "ceph", network: true });
  });
});
