/**
 * The filters every movie-ranking report accepts, so the three seed reports (and any later
 * movie report) agree on names and meaning.
 */
import { object, optional, type Infer } from "superstruct";
import { dateRange, listMatch, matchStage, minimum, nameList, numberRange, rangeMatch, topN } from "./filters.ts";

export const movieFilterFields = {
  /** imdb.rating bounds, e.g. {"$gt": 7}. */
  rating: optional(numberRange()),
  /** Only movies with at least this many imdb votes. */
  min_votes: minimum(0),
  /** Release date range; years or ISO dates. */
  released: optional(dateRange()),
  actors: optional(nameList()),
  directors: optional(nameList()),
  writers: optional(nameList()),
  genres: optional(nameList()),
  top: topN(),
};

export const MovieFilters = object(movieFilterFields);
export type MovieFilters = Infer<typeof MovieFilters>;

/**
 * The $match for movie filters. A rating or vote count that is not a number (the dataset has
 * `""` for both in one movie) is excluded explicitly, so it neither sorts nor averages.
 */
export function movieMatch(filters: MovieFilters) {
  return matchStage(
    { "imdb.rating": { $type: "number" } },
    rangeMatch("imdb.rating", filters.rating),
    filters.min_votes === undefined ? {} : { "imdb.votes": { $type: "number", $gte: filters.min_votes } },
    rangeMatch("released", filters.released),
    listMatch("cast", filters.actors),
    listMatch("directors", filters.directors),
    listMatch("writers", filters.writers),
    listMatch("genres", filters.genres),
  );
}
