/**
 * Times as eFolder's JSON has them: Rails' ActiveSupport ISO 8601 with milliseconds in UTC
 * (`2015-01-01T17:00:00.000Z`), built in SQL so a manifest stays one statement.
 */
export const efolderTime = (col: string) =>
  `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** eFolder's estimate per document still to download (Record::AVERAGE_DOWNLOAD_TIME_IN_SECONDS). */
export const AVERAGE_DOWNLOAD_SECONDS = 2;

/** eFolder's zips expire this long after the user asked (Manifest::UI_HOURS_UNTIL_EXPIRY). */
export const ZIP_EXPIRY_HOURS = 72;

/**
 * eFolder's `time_to_complete`: Rails' `distance_of_time_in_words(now, now + seconds,
 * include_seconds: true)`, in the same words (en locale).
 */
export function timeToComplete(seconds: number): string {
  const s = Math.round(seconds);
  const m = Math.round(s / 60);
  if (m <= 1) {
    if (s <= 4) return 'less than 5 seconds';
    if (s <= 9) return 'less than 10 seconds';
    if (s <= 19) return 'less than 20 seconds';
    if (s <= 39) return 'half a minute';
    if (s <= 59) return 'less than a minute';
    return '1 minute';
  }
  if (m < 45) return `${m} minutes`;
  if (m < 90) return 'about 1 hour';
  if (m < 1440) return `about ${Math.round(m / 60)} hours`;
  if (m < 2520) return '1 day';
  if (m < 43200) return `${Math.round(m / 1440)} days`;
  if (m < 86400)
    return `about ${Math.round(m / 43200)} month${Math.round(m / 43200) > 1 ? 's' : ''}`;
  if (m < 525600) return `${Math.round(m / 43200)} months`;
  const years = Math.floor(m / 525600);
  return years === 1 ? 'about 1 year' : `about ${years} years`;
}
