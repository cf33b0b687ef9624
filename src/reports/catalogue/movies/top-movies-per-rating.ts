import { defineReport } from "../../define.ts";
import { limitStage } from "../../filters.ts";
import { MovieFilters, movieMatch } from "../../movie-filters.ts";

export default defineReport({
  name: "top-movies-per-rating",
  collection: "movies",
  description: "Movies ranked by IMDb rating (ties: more votes first, then title). Movies without a numeric rating are left out.",
  params: MovieFilters,
  pipeline: (filters) => [
    ...movieMatch(filters),
    { $sort: { "imdb.rating": -1, "imdb.votes": -1, title: 1, _id: 1 } },
    ...limitStage(filters.top),
    {
      $project: {
        _id: 0,
        movie_id: "$_id",
        title: 1,
        year: 1,
        released: 1,
        rating: "$imdb.rating",
        votes: "$imdb.votes",
        directors: 1,
        genres: 1,
      },
    },
  ],
  // The design document's requests: POST /v1/movies/movies-per-rating (and /v1/movies-per-rating)
  // with rating_threshold, a time range and include/exclude lists of actors, directors and
  // writers, which it spells "writors".
  aliases: {
    routes: ["movies/movies-per-rating", "movies-per-rating"],
    parameters: { rating_threshold: "rating", time_range: "released", movie_released_at: "released", writors: "writers" },
  },
  columns: [
    { name: "movie_id", type: "string" },
    { name: "title", type: "string" },
    // year stays undeclared: some copies of the dataset hold text years ("2005è"), so in Parquet it
    // is a text column (1999 as "1999"); Excel keeps each cell's own type.
    { name: "year" },
    { name: "released", type: "date", description: "release date (may be absent)" },
    // Only numeric ratings pass the filter; a vote count may be "" (no votes), which Parquet writes as null.
    { name: "rating", type: "number", description: "imdb.rating" },
    { name: "votes", type: "integer", description: "imdb.votes" },
    { name: "directors", type: "json" },
    { name: "genres", type: "json" },
  ],
  sort: { rating: -1, votes: -1, title: 1, movie_id: 1 },
  example: { rating: { $gt: 7.5 }, min_votes: 1000, released: { $gt: "1940", $lt: "1960" }, top: 20 },
});
