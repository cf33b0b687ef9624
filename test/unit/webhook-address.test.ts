/** Which resolved addresses a webhook may call: public unicast only. */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { blockedReason } from "../../src/webhooks/address.ts";

const test = suite("webhook address");

test("loopback, link-local, private, CGNAT, multicast and unspecified addresses are refused, in both families", () => {
  for (const address of [
    "127.0.0.1",
    "127.255.0.9",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fd00::1",
    "fc00::5",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:a9fe:a9fe", // 169.254.169.254, mapped
    "0:0:0:0:0:0:0:1",
  ]) {
    assert.ok(blockedReason(address), `${address} must be refused`);
  }
});

test("IPv6 forms carrying a blocked IPv4 address (NAT64, 6to4) and Teredo tunnels are refused", () => {
  for (const address of [
    "64:ff9b::127.0.0.1",
    "64:ff9b::a9fe:a9fe", // NAT64 of 169.254.169.254
    "64:ff9b::a00:1", // NAT64 of 10.0.0.1
    "2002:7f00:1::", // 6to4 of 127.0.0.1
    "2002:c0a8:101::1", // 6to4 of 192.168.1.1
    "2002:a9fe:a9fe:1:2:3:4:5", // 6to4 of 169.254.169.254
    "2001:0:4136:e378:8000:63bf:3fff:fdd2", // Teredo
    "2001::1",
  ]) {
    assert.ok(blockedReason(address), `${address} must be refused`);
  }
  for (const address of ["64:ff9b::8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "2001:4860:4860::8888"]) {
    assert.is(blockedReason(address), null, address);
  }
});

test("public addresses pass, including neighbours of the blocked ranges", () => {
  for (const address of ["8.8.8.8", "172.15.255.255", "172.32.0.1", "100.63.255.255", "169.253.1.1", "2606:4700::1111", "::ffff:8.8.8.8"]) {
    assert.is(blockedReason(address), null, address);
  }
  assert.ok(blockedReason("not-an-address"));
});

test.run();
