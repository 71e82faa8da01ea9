/**
 * Resolving a stack once less per synth (private: not exported from the package entry
 * points). cdktf resolves every stack when it prepares it and when it writes it; the policy
 * pack's validation resolves it once more to check it. When nothing can change the stack
 * between that validation and the write, the pack hands its JSON to cdktf's write.
 */
import type { TerraformStack } from "cdktf";
import type { IValidation } from "constructs";

/** Validations known to leave the stack as it is (they read it, return errors, add annotations). */
const READ_ONLY_VALIDATIONS = new WeakSet<IValidation>();

/**
 * Marks `validation` as read-only: it reads the stack and returns errors or adds
 * annotations, never adds, removes or changes a construct or an override. Every validation
 * the library adds is marked, so that the policy pack may hand the JSON it checked to
 * cdktf's write (`checkStackForSynth` in policy-pack.ts); an unmarked validation anywhere in the stack
 * (a user's) turns the hand-off off, nothing else.
 * @returns `validation`
 */
export function readOnlyValidation<T extends IValidation>(validation: T): T {
  READ_ONLY_VALIDATIONS.add(validation);
  return validation;
}

/** cdktf's own validations (not exported by cdktf, so known by class name): they only read the stack. */
const CDKTF_READ_ONLY_VALIDATIONS = new Set(["ValidateProviderPresence", "ValidateTerraformVersion", "ValidateBinaryVersion"]);

/** cdktf's custom-synthesis hook (assets), run between the validations and the write. */
const CUSTOM_SYNTHESIS = Symbol.for("cdktf/customSynthesis");

/**
 * True when nothing in `stack` can change it between the validations and cdktf's write:
 * every validation of every construct of the stack is read-only ({@link readOnlyValidation},
 * or one of cdktf's), and no construct has a custom-synthesis hook (cdktf runs those after
 * the validations). Reads the constructs library's `_validations` list: if that private
 * field is not an array or absent-as-undefined (another constructs version), the answer is
 * false, so the hand-off is off rather than unsafe.
 */
export function stackSettledAfterValidation(stack: TerraformStack): boolean {
  for (const c of stack.node.findAll()) {
    if ((c as unknown as Record<symbol, unknown>)[CUSTOM_SYNTHESIS] !== undefined) return false;
    const validations: unknown = (c.node as unknown as { _validations?: unknown })._validations;
    if (validations === undefined) continue;
    if (!Array.isArray(validations)) return false;
    for (const v of validations as IValidation[]) {
      if (READ_ONLY_VALIDATIONS.has(v)) continue;
      if (!CDKTF_READ_ONLY_VALIDATIONS.has((v as { constructor?: { name?: string } })?.constructor?.name ?? "")) return false;
    }
  }
  return true;
}

/**
 * Makes the next `stack.toTerraform()` call return `json` (computed by that same method a
 * moment before) instead of resolving the stack again: a one-shot instance property that
 * removes itself when called, and in any case when the current synchronous job ends
 * (`app.synth()` is synchronous: validations, then cdktf's `toTerraform()`), so no later
 * call, after a change to the stack, can see a stale value.
 */
export function reuseOnce(stack: TerraformStack, json: unknown): void {
  const target = stack as unknown as { toTerraform: () => unknown };
  const own = Object.prototype.hasOwnProperty.call(stack, "toTerraform") ? target.toTerraform : undefined;
  const restore = () => {
    if (target.toTerraform !== once) return;
    if (own) target.toTerraform = own;
    else delete (target as { toTerraform?: unknown }).toTerraform;
  };
  const once = () => {
    restore();
    return json;
  };
  target.toTerraform = once;
  queueMicrotask(restore);
}
