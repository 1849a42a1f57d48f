/** Where a client finds a task and its actions (relative to the API's origin). */
export function taskLinks(taskId: string) {
  const self = `/v1/tasks/${encodeURIComponent(taskId)}`;
  return { self, cancel: self, retry: `${self}/retry` };
}

export function fileLink(taskId: string, name: string): string {
  return `/v1/tasks/${encodeURIComponent(taskId)}/files/${encodeURIComponent(name)}`;
}
