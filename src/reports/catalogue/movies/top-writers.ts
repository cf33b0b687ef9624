import { defineReport } from "../../define.ts";
import { peopleColumns, peopleParams, peoplePipeline, type PeopleFilters } from "../../people-ranking.ts";

export default defineReport({
  name: "top-writers",
  collection: "movies",
  description:
    'Writers ranked by the average IMDb rating of their movies or by movie count (rank_by). Names are as credited, role included, e.g. "Phil Dike (story)". Ties: the other measure, then name.',
  params: peopleParams(),
  pipeline: (filters) => peoplePipeline("writers", "writers", filters as PeopleFilters),
  columns: peopleColumns("writer, as credited"),
  sort: { average_rating: -1, movies: -1, name: 1 },
  example: { rank_by: "rating", min_votes: 1000, movies: { $gte: 2 }, top: 10 },
});
