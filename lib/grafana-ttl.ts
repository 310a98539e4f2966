import { Duration } from 'aws-cdk-lib';

/** The units of Grafana's time-to-live syntax, in seconds. `M` is a month of 30 days, as Grafana counts it. */
const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400, w: 7 * 86_400, M: 30 * 86_400 };

/** The forms GrafanaTtl.parse accepts, for error messages. */
const GRAFANA_TTL_FORMS = "a whole number of 1 or more followed by one unit: s (seconds), m (minutes), h (hours), d (days), w (weeks) or M (30-day months), e.g. '12h', '1d', '1w', '1M'";

/**
 * Grafana's time-to-live syntax, as its "Create an API key" documentation
 * writes it: a number and a unit, such as `12h`, `1d`, `1w` or `1M`.
 */
export class GrafanaTtl {
  /**
   * Parses a Grafana time to live into a Duration, for any `timeToLive` or
   * `rotateAfter`: `s`, `m`, `h`, `d`, `w`, and `M` for 30 days (so `1M` is
   * `Duration.days(30)`). Anything else fails at synth, naming the property
   * (when given) and the accepted forms.
   *
   * @param text the time to live, e.g. `12h`
   * @param property the property the value is for, named in the error message (e.g. `timeToLive`)
   */
  static parse(text: string, property?: string): Duration {
    const match = /^([1-9][0-9]{0,8})([smhdwM])$/.exec(text);
    if (!match) {
      const what = property ? `${property}: GrafanaTtl.parse` : 'GrafanaTtl.parse';
      throw new Error(`${what} got '${text}', which is not a Grafana time to live: use ${GRAFANA_TTL_FORMS}`);
    }
    return Duration.seconds(Number(match[1]) * UNIT_SECONDS[match[2]]);
  }

  private constructor() {}
}
