/** jest.config.js setup file: marks the unit tier, where the system-only helpers throw. */
import { TEST_TIER_VARIABLE } from "./prerequisites";

process.env[TEST_TIER_VARIABLE] = "unit";
