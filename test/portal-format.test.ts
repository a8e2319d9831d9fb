// The portal's number formatting: binary byte units, grouped counts, money, rates, percentages,
// durations, dates and readable limit names, with the edges (0, unit boundaries, huge values,
// negatives, NaN) and the usage bar's levels and text.
import { describe, expect, it } from "vitest";
import {
  formatBytes,
  formatCount,
  formatDate,
  formatDateTime,
  formatDuration,
  formatLimit,
  formatMetric,
  formatMoney,
  formatPercent,
  formatRate,
  humanize,
  limitLabel,
  metricLabel,
  NOT_A_NUMBER,
  UNLIMITED,
} from "../src/portal/format";
import { usageLevel, usageText } from "../src/portal/limit-bars";

const KiB = 1024;
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const TiB = 1024 ** 4;

describe("formatBytes", () => {
  it("keeps bytes below 1 KiB as bytes and switches unit at 1024", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1)).toBe("1 B");
    expect(formatBytes(1023)).toBe("1,023 B");
    expect(formatBytes(1024)).toBe("1 KiB");
    expect(formatBytes(1536)).toBe("1.5 KiB");
  });

  it("shows one decimal where useful and none on whole values", () => {
    expect(formatBytes(1.5 * GiB)).toBe("1.5 GiB");
    expect(formatBytes(53687091200)).toBe("50 GiB");
    expect(formatBytes(1073741824)).toBe("1 GiB");
    expect(formatBytes(12.3 * MiB)).toBe("12.3 MiB");
    expect(formatBytes(TiB)).toBe("1 TiB");
    expect(formatBytes(10 * KiB + 30)).toBe("10 KiB");
  });

  it("rounds up into the next unit instead of printing 1,024 of the smaller one", () => {
    expect(formatBytes(MiB - 1)).toBe("1 MiB");
    expect(formatBytes(GiB - 1)).toBe("1 GiB");
  });

  it("stays in TiB past it, with separators, up to the largest safe integer", () => {
    expect(formatBytes(2048 * TiB)).toBe("2,048 TiB");
    expect(formatBytes(Number.MAX_SAFE_INTEGER)).toBe("8,192 TiB");
    expect(formatBytes(1e30)).toMatch(/^[\d,]+ TiB$/);
  });

  it("keeps the sign of a negative size and refuses what is not a number", () => {
    expect(formatBytes(-1536)).toBe("-1.5 KiB");
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, undefined, null, "12"])
      expect(formatBytes(bad)).toBe(NOT_A_NUMBER);
  });
});

describe("formatCount, formatMoney, formatRate, formatPercent", () => {
  it("groups digits by thousands, en-US style, whatever the runtime's locale", () => {
    expect(formatCount(0)).toBe("0");
    expect(formatCount(999)).toBe("999");
    expect(formatCount(1000)).toBe("1,000");
    expect(formatCount(1234567)).toBe("1,234,567");
    expect(formatCount(-1234567)).toBe("-1,234,567");
    expect(formatCount(2.25)).toBe("2.3");
    expect(formatCount(Number.MAX_SAFE_INTEGER)).toBe("9,007,199,254,740,991");
    expect(formatCount(1e21)).toBe("1,000,000,000,000,000,000,000");
    expect(formatCount(-0)).toBe("0");
    expect(formatCount(Number.NaN)).toBe(NOT_A_NUMBER);
    expect(formatCount(undefined)).toBe(NOT_A_NUMBER);
  });

  it("prints cents as dollars with separators and two decimals", () => {
    expect(formatMoney(0)).toBe("$0.00");
    expect(formatMoney(5)).toBe("$0.05");
    expect(formatMoney(2900)).toBe("$29.00");
    expect(formatMoney(123456789)).toBe("$1,234,567.89");
    expect(formatMoney(-150)).toBe("-$1.50");
    expect(formatMoney(Number.NaN)).toBe(NOT_A_NUMBER);
  });

  it("prints rates per second", () => {
    expect(formatRate(10)).toBe("10 req/s");
    expect(formatRate(1500)).toBe("1,500 req/s");
    expect(formatRate(Number.NaN)).toBe(NOT_A_NUMBER);
  });

  it("tells a small share from none and never rounds a share below the limit up to 100%", () => {
    expect(formatPercent(0)).toBe("0%");
    expect(formatPercent(0.00001)).toBe("<0.01%");
    expect(formatPercent((12.3 * MiB) / (50 * GiB))).toBe("0.02%");
    expect(formatPercent(0.5)).toBe("50%");
    expect(formatPercent(0.853)).toBe("85.3%");
    expect(formatPercent(0.99999)).toBe("99.9%");
    expect(formatPercent(1)).toBe("100%");
    expect(formatPercent(12.5)).toBe("1,250%");
    expect(formatPercent(Number.NaN)).toBe(NOT_A_NUMBER);
  });
});

describe("durations and dates", () => {
  it("prints how long something took in the unit that reads best", () => {
    expect(formatDuration(0)).toBe("0 ms");
    expect(formatDuration(850)).toBe("850 ms");
    expect(formatDuration(4200)).toBe("4.2 s");
    expect(formatDuration(120_000)).toBe("2 min");
    expect(formatDuration(125_000)).toBe("2 min 5 s");
    expect(formatDuration(3_780_000)).toBe("1 h 3 min");
    expect(formatDuration(-1)).toBe(NOT_A_NUMBER);
    expect(formatDuration(Number.NaN)).toBe(NOT_A_NUMBER);
  });

  it("prints timestamps in UTC to the second, and days; keeps what it cannot parse", () => {
    expect(formatDateTime("2026-12-01T10:18:42.123Z")).toBe("2026-12-01 10:18:42 UTC");
    expect(formatDate("2026-12-01T23:59:59.000Z")).toBe("2026-12-01");
    expect(formatDateTime("soon")).toBe("soon");
    expect(formatDateTime(null)).toBe(NOT_A_NUMBER);
    expect(formatDate(undefined)).toBe(NOT_A_NUMBER);
  });
});

describe("limit and metric names and values", () => {
  it("reads every limit the plans have as a label", () => {
    expect(limitLabel("maxStorageBytes")).toBe("Storage");
    expect(limitLabel("maxRequestsPerMonth")).toBe("Requests per month");
    expect(limitLabel("requestsPerSecond")).toBe("Requests per second");
    expect(limitLabel("maxRecords")).toBe("Records");
    expect(limitLabel("maxMembers")).toBe("Members");
    expect(limitLabel("maxCollections")).toBe("Collections");
    expect(limitLabel("maxBackups")).toBe("Backups");
    expect(limitLabel("burst")).toBe("Burst");
    expect(limitLabel("maxFileUploadBytes")).toBe("File upload");
    expect(metricLabel("storageBytes")).toBe("Storage");
    expect(metricLabel("searchQueries")).toBe("Search queries");
    expect(humanize("purgedRecords")).toBe("Purged records");
  });

  it("prints each limit in its unit, and the sentinel as unlimited", () => {
    expect(formatLimit("maxStorageBytes", 53687091200)).toBe("50 GiB");
    expect(formatLimit("maxRequestsPerMonth", 5000000)).toBe("5,000,000");
    expect(formatLimit("requestsPerSecond", 50)).toBe("50 req/s");
    expect(formatLimit("burst", 100)).toBe("100 requests");
    expect(formatLimit("maxRecords", UNLIMITED)).toBe("unlimited");
    expect(formatLimit("maxRecords", Number.NaN)).toBe(NOT_A_NUMBER);
    expect(formatMetric("egressBytes", 2048)).toBe("2 KiB");
    expect(formatMetric("reads", 12345)).toBe("12,345");
  });
});

describe("usage against a limit", () => {
  it("warns over 80% and is critical at the limit", () => {
    expect(usageLevel(0, 100)).toBe("ok");
    expect(usageLevel(80, 100)).toBe("ok");
    expect(usageLevel(81, 100)).toBe("warn");
    expect(usageLevel(99, 100)).toBe("warn");
    expect(usageLevel(100, 100)).toBe("critical");
    expect(usageLevel(150, 100)).toBe("critical");
    expect(usageLevel(0, 0)).toBe("critical");
  });

  it("says how much of the limit is used, in the metric's unit", () => {
    expect(usageText("storageBytes", 12.3 * MiB, "maxStorageBytes", 50 * GiB)).toBe("12.3 MiB of 50 GiB (0.02%)");
    expect(usageText("records", 3, "maxRecords", 10000)).toBe("3 of 10,000 (0.03%)");
    expect(usageText("members", 6, "maxMembers", 5)).toBe("6 of 5 (120%)");
    expect(usageText("records", 3, "maxRecords", UNLIMITED)).toBe("3 (no limit)");
    expect(usageText("members", 0, "maxMembers", 0)).toBe("0 of 0 (none allowed)");
  });
});
