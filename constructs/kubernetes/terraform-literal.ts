/**
 * Text for a Terraform string, kept literal (`${` → `$${`, `%{` → `%%{`, cdktf token markers
 * left alone). One implementation, shared with the AWS constructs: src/render/terraform-safe.ts.
 */
export { terraformLiteral, terraformLiterals } from "../../src/render/terraform-safe";
