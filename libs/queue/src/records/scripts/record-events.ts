/**
 * Appends a batch of farm events to the event log (`FarmEvents.record`), in order, each trimmed as a
 * single append is.
 * KEYS[1] the event log stream
 * ARGV[1] its cap (MAXLEN ~); ARGV[2..] the events (JSON)
 * Returns the number of events appended.
 */
export const RECORD_EVENTS_SCRIPT = `
for i = 2, #ARGV do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'event', ARGV[i])
end
return #ARGV - 1
`;
