import { danglingMoves, managedResourceAddresses, silentlyRemovedAddresses } from "../../src/rules/addresses";

const before = ["aws_ebs_volume.orders_slot_0", "aws_kms_key.orders_key"];

test("an unchanged configuration loses no address", () => {
  expect(silentlyRemovedAddresses(before, [...before], [])).toEqual([]);
});

test("a renamed resource without a moved block is reported", () => {
  expect(silentlyRemovedAddresses(before, ["aws_ebs_volume.orders_slot_0_data", "aws_kms_key.orders_key"], [])).toEqual(["aws_ebs_volume.orders_slot_0"]);
});

test("a renamed resource with a moved block to its new address passes", () => {
  const after = ["aws_ebs_volume.orders_slot_0_data", "aws_kms_key.orders_key"];
  expect(silentlyRemovedAddresses(before, after, [{ from: "aws_ebs_volume.orders_slot_0", to: "aws_ebs_volume.orders_slot_0_data" }])).toEqual([]);
});

test("a moved block to an address that does not exist does not cover the removal", () => {
  const after = ["aws_kms_key.orders_key"];
  expect(silentlyRemovedAddresses(before, after, [{ from: "aws_ebs_volume.orders_slot_0", to: "aws_ebs_volume.gone" }])).toEqual(["aws_ebs_volume.orders_slot_0"]);
});

test("new addresses are not reported", () => {
  expect(silentlyRemovedAddresses(before, [...before, "aws_sns_topic.orders_alarms"], [])).toEqual([]);
});

test("dangling moved blocks are found", () => {
  expect(danglingMoves(before, [{ from: "a.b", to: "aws_ebs_volume.nope" }])).toEqual([{ from: "a.b", to: "aws_ebs_volume.nope" }]);
});

test("managed addresses ignore data sources", () => {
  expect(managedResourceAddresses({ resource: { aws_kms_key: { k: {} } }, data: { aws_subnet: { s: {} } } } as any)).toEqual(["aws_kms_key.k"]);
});
