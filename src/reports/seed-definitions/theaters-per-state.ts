/**
 * Shipped as a report_definitions document (not a code module): inserted at start if no
 * definition of this name exists, then edited like any other data-defined report.
 */
export default {
  name: "theaters-per-state",
  collection: "theaters",
  description: "US states ranked by number of theaters, with how many distinct cities have one (ties: state code).",
  parameters: {
    type: "object",
    properties: {
      states: { type: "list", description: 'state codes to include or exclude, e.g. {"include": ["CA", "NY"]}' },
      theaters: { type: "range", of: "number", description: 'bounds on a state\'s theater count, e.g. {"$gte": 20}' },
      top: { type: "integer", minimum: 1, maximum: 1000, description: "keep only the first N states" },
    },
  },
  pipeline: [
    { $match: { "location.address.state": { $param: "states" } } },
    {
      $group: {
        _id: "$location.address.state",
        theaters: { $sum: 1 },
        cities: { $addToSet: "$location.address.city" },
      },
    },
    { $project: { _id: 0, state: "$_id", theaters: 1, cities: { $size: "$cities" } } },
    { $match: { theaters: { $param: "theaters" } } },
    { $limit: { $param: "top" } },
  ],
  // No $sort in the template: the default order is inserted before the top-N $limit.
  sort: { theaters: -1, state: 1 },
  columns: [
    { name: "state", type: "string", description: "location.address.state" },
    { name: "theaters", type: "integer", description: "theaters in the state" },
    { name: "cities", type: "integer", description: "distinct cities with a theater" },
  ],
  example: { theaters: { $gte: 20 }, top: 10 },
};
