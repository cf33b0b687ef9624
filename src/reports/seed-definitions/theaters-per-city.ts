/** Shipped as a report_definitions document; see theaters-per-state.ts. */
export default {
  name: "theaters-per-city",
  collection: "theaters",
  description: "Cities ranked by number of theaters (a city is a city name within a state; ties: state, then city).",
  parameters: {
    type: "object",
    properties: {
      states: { type: "list", description: "state codes to include or exclude" },
      cities: { type: "list", description: "city names to include or exclude" },
      theaters: { type: "range", of: "number", description: 'bounds on a city\'s theater count, e.g. {"$gt": 5}' },
      top: { type: "integer", minimum: 1, maximum: 10000, default: 100, description: "keep only the first N cities" },
    },
  },
  pipeline: [
    { $match: { "location.address.state": { $param: "states" }, "location.address.city": { $param: "cities" } } },
    { $group: { _id: { state: "$location.address.state", city: "$location.address.city" }, theaters: { $sum: 1 } } },
    { $project: { _id: 0, city: "$_id.city", state: "$_id.state", theaters: 1 } },
    { $match: { theaters: { $param: "theaters" } } },
    { $sort: { theaters: -1, state: 1, city: 1 } },
    { $limit: { $param: "top" } },
  ],
  sort: { theaters: -1, state: 1, city: 1 },
  columns: [
    { name: "city", type: "string", description: "location.address.city" },
    { name: "state", type: "string", description: "location.address.state" },
    { name: "theaters", type: "integer", description: "theaters in the city" },
  ],
  example: { states: { include: ["CA", "TX"] }, top: 10 },
};
