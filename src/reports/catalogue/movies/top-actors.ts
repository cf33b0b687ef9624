import { defineReport } from "../../define.ts";
import { peopleColumns, peopleParams, peoplePipeline, type PeopleFilters } from "../../people-ranking.ts";

export default defineReport({
  name: "top-actors",
  collection: "movies",
  description:
    "Actors (movie cast) ranked by the average IMDb rating of their movies or by movie count (rank_by). Ties: the other measure, then name. Movies without a numeric rating are left out.",
  params: peopleParams(),
  pipeline: (filters) => peoplePipeline("cast", "actors", filters as PeopleFilters),
  columns: peopleColumns("actor"),
  sort: { average_rating: -1, movies: -1, name: 1 },
  example: { rank_by: "movies", released: { $gte: "1940", $lt: "1950" }, movies: { $gte: 3 }, top: 10 },
});
