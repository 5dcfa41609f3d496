import { timeToComplete } from './efolder-time';

describe("eFolder's time_to_complete (Rails distance_of_time_in_words, include_seconds)", () => {
  it.each([
    [0, 'less than 5 seconds'],
    [6, 'less than 10 seconds'],
    [14, 'less than 20 seconds'],
    [30, 'half a minute'],
    [50, 'less than a minute'],
    [70, '1 minute'],
    [90, '2 minutes'],
    [44 * 60, '44 minutes'],
    [60 * 60, 'about 1 hour'],
    [4000, 'about 1 hour'],
    [5 * 3600, 'about 5 hours'],
    [30 * 3600, '1 day'],
    [3 * 86400, '3 days'],
  ])('%i s is "%s"', (seconds, words) => expect(timeToComplete(seconds)).toBe(words));
});
