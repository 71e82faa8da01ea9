import { END_OF_SUPPORT, MAJOR_VERSIONS, supportStatus } from "../../src/cluster-spec";

describe("versions", () => {
  test("15, 16 and 17 end in November 2027, 2028 and 2029", () => {
    expect(MAJOR_VERSIONS).toEqual([15, 16, 17]);
    expect(END_OF_SUPPORT[15]).toMatch(/^2027-11-/);
    expect(END_OF_SUPPORT[16]).toMatch(/^2028-11-/);
    expect(END_OF_SUPPORT[17]).toMatch(/^2029-11-/);
  });

  test("a version more than 180 days from its end is supported", () => {
    expect(supportStatus(15, new Date("2026-11-21T00:00:00Z")).status).toBe("supported");
  });

  test("a version within 180 days of its end is ending, with the days left", () => {
    const s = supportStatus(15, new Date("2027-06-01T00:00:00Z"));
    expect(s.status).toBe("ending");
    expect(s.daysLeft).toBe(163);
  });

  test("exactly 180 days before the end is already ending (the notice starts that day)", () => {
    expect(supportStatus(15, new Date("2027-05-15T00:00:00Z")).status).toBe("ending");
    expect(supportStatus(15, new Date("2027-05-14T00:00:00Z")).status).toBe("supported");
  });

  test("on and after the end of support the version has ended", () => {
    expect(supportStatus(15, new Date("2027-11-11T00:00:00Z")).status).toBe("ended");
    expect(supportStatus(16, new Date("2030-01-01T00:00:00Z")).status).toBe("ended");
  });
});
