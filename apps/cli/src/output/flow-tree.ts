import type { FlowTreeNode } from "@wgp-farm/queue";

/** One line per job: what it is, its state, why it failed; `marked` is the task asked about. */
function lineOf(node: FlowTreeNode, marked: string): string {
  const kind = node.kind === "task" ? "" : ` [${node.kind}]`;
  const reason = node.failed_reason ? ` — ${node.failed_reason}` : "";
  const here = node.task_id === marked ? "  ◀" : "";
  return `${node.task_id}${kind}: ${node.state}${reason}${here}`;
}

function branch(node: FlowTreeNode, marked: string, prefix: string, last: boolean, root: boolean): string[] {
  const head = root ? "" : `${prefix}${last ? "└─ " : "├─ "}`;
  const childPrefix = root ? "" : `${prefix}${last ? "   " : "│  "}`;
  return [
    `${head}${lineOf(node, marked)}`,
    ...node.children.flatMap((child, i) =>
      branch(child, marked, childPrefix, i === node.children.length - 1, false),
    ),
  ];
}

/**
 * The flow as a tree for `status <task_id>`: the root runs last (a stitch, a last post-step), each
 * job's children are what it waits for.
 */
export function formatFlowTree(flow: FlowTreeNode, taskId: string): string {
  return [
    "Flow (each job waits for the ones below it):",
    ...branch(flow, taskId, "  ", true, true).map((line) => `  ${line}`),
  ].join("\n");
}
