/** jest.system.config.js global setup: the whole tier fails first, naming the packages, when the machine lacks any. */
import { requireSystemTier } from "./prerequisites";

export default function systemGlobalSetup(): void {
  requireSystemTier();
}
