/** jest.system.config.js setup file: marks the system tier. */
import { TEST_TIER_VARIABLE } from "./prerequisites";

process.env[TEST_TIER_VARIABLE] = "system";
