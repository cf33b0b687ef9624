/**
 * People (actors, writers, …) ranked from the movies they appear in: the shared shape of the
 * "top actors" and "top writers" reports, so both agree on filters, ties and columns.
 */
import { object, optional } from "superstruct";
import type { Document } from "mongodb";
import type { Column } from "./define.ts";
import { choice, limitStage, matchStage, numberRange, rangeMatch } from "./filters.ts";
import { rankKeys, RATING_PRECISION } from "./ranking.ts";
import { movieFilterFields, movieMatch, type MovieFilters } from "./movie-filters.ts";

export const RANK_BY = ["rating", "movies"] as const;

export function peopleParams() {
  return object({
    ...movieFilterFields,
    /** Bounds on how many matching movies a person has, e.g. {"$gte": 3}. */
    movies: optional(numberRange()),
    rank_by: choice(RANK_BY, "rating", "rating: by average imdb.rating; movies: by number of movies"),
  });
}

export type PeopleFilters = MovieFilters & {
  movies?: { $gt?: number; $gte?: number; $lt?: number; $lte?: number };
  rank_by: (typeof RANK_BY)[number];
};

/**
 * `field` is the movie array (cast, writers); `list` is the filter that names people in it, which
 * chooses movies and, on the unwound rows, which people rank.
 */
export function peoplePipeline(field: string, list: "actors" | "writers", filters: PeopleFilters): Document[] {
  const names = filters[list];
  const order =
    filters.rank_by === "movies" ? { movies: -1, average_rating_rank: -1, _id: 1 } : { average_rating_rank: -1, movies: -1, _id: 1 };
  return [
    ...movieMatch(filters),
    // $setUnion drops a name listed twice on one movie (the data has such repeats), so no movie
    // counts double; $ifNull keeps movies without the field from failing the set operation.
    { $project: { person: { $setUnion: [{ $ifNull: [`$${field}`, []] }, []] }, rating: "$imdb.rating" } },
    { $unwind: "$person" },
    ...matchStage(names?.include ? { person: { $in: names.include } } : {}, names?.exclude ? { person: { $nin: names.exclude } } : {}),
    { $group: { _id: "$person", average_rating: { $avg: "$rating" }, movies: { $sum: 1 } } },
    ...matchStage(rangeMatch("movies", filters.movies)),
    rankKeys({ average_rating: RATING_PRECISION }),
    { $sort: order },
    ...limitStage(filters.top),
    { $project: { _id: 0, name: "$_id", average_rating: 1, movies: 1 } },
  ];
}

export const peopleColumns = (who: string): Column[] => [
  { name: "name", type: "string", description: who },
  { name: "average_rating", type: "number", precision: RATING_PRECISION, description: "mean imdb.rating of the matching movies" },
  { name: "movies", type: "integer", description: "number of matching movies" },
];
