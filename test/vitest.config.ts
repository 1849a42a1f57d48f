import { packageTestConfig } from "../vitest.shared.ts";

// The chaos suite's short sizes: one scenario after another (each starts its own Redis and processes).
export default packageTestConfig({ include: ["chaos/**/*.test.ts"], testTimeout: 300_000 });
