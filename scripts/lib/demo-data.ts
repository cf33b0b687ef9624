/**
 * A generated dataset shaped like sample_mflix (movies, comments, users, theaters), so the service
 * has something to report on out of the box. Deterministic: the same size gives the same data,
 * including the real dataset's dirty spots (a rating of "", missing runtimes and release dates,
 * a director listed twice), so the reports' handling of them is visible in the demo too.
 */
import { ObjectId, type Db, type Document } from "mongodb";

/** mulberry32: tiny, fast, good enough for test data, and identical on every runtime. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = [
  "Ada",
  "Ben",
  "Chloe",
  "Dario",
  "Elena",
  "Farid",
  "Greta",
  "Hugo",
  "Ines",
  "Jonas",
  "Kaito",
  "Lena",
  "Mateo",
  "Nora",
  "Oscar",
  "Priya",
  "Quinn",
  "Rosa",
  "Sven",
  "Tala",
];
const LAST = [
  "Abbott",
  "Brandt",
  "Castillo",
  "Dubois",
  "Eriksen",
  "Fischer",
  "Garcia",
  "Hansen",
  "Ito",
  "Jensen",
  "Kowalski",
  "Lopez",
  "Moreau",
  "Novak",
  "Okafor",
  "Petrov",
  "Quintero",
  "Rossi",
  "Sato",
  "Tanaka",
];
const GENRES = [
  "Drama",
  "Comedy",
  "Romance",
  "Crime",
  "Thriller",
  "Action",
  "Adventure",
  "Documentary",
  "Horror",
  "Western",
  "Musical",
  "Sci-Fi",
];
const WORDS = [
  "Night",
  "River",
  "Secret",
  "Last",
  "Golden",
  "Silent",
  "City",
  "Garden",
  "Storm",
  "Road",
  "Winter",
  "Letter",
  "Island",
  "Shadow",
  "Summer",
  "Bridge",
];
const STATES = ["CA", "NY", "TX", "FL", "IL", "WA", "MA", "CO", "GA", "OR"];
const CITIES = ["Springfield", "Riverside", "Fairview", "Franklin", "Greenville", "Madison", "Clinton", "Georgetown"];

export interface DemoSize {
  movies: number;
  commentsPerMovie: number;
  users: number;
  theaters: number;
}

export function demoSize(movies = 2000): DemoSize {
  return { movies, commentsPerMovie: 10, users: Math.max(20, Math.round(movies / 10)), theaters: Math.max(10, Math.round(movies / 5)) };
}

export function* generateDemo(size: DemoSize, seed = 42): Generator<{ collection: string; doc: Document }> {
  const random = prng(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];
  const person = () => `${pick(FIRST)} ${pick(LAST)}`;
  const directors = Array.from({ length: Math.max(5, Math.round(size.movies / 8)) }, person);
  const actors = Array.from({ length: Math.max(20, Math.round(size.movies / 2)) }, person);
  const writers = Array.from({ length: Math.max(5, Math.round(size.movies / 6)) }, person);
  const users = Array.from({ length: size.users }, (_, i) => {
    const name = person();
    return {
      _id: new ObjectId(hexId(3, i)),
      name,
      email: `${name.toLowerCase().replace(" ", ".")}.${i}@example.org`,
      password: "$2b$12$demo",
    };
  });
  for (const user of users) yield { collection: "users", doc: user };

  for (let i = 0; i < size.movies; i++) {
    const id = new ObjectId(hexId(1, i));
    const year = 1930 + Math.floor(random() * 90);
    const released = new Date(Date.UTC(year, Math.floor(random() * 12), 1 + Math.floor(random() * 28)));
    const movieDirectors = [pick(directors), ...(random() < 0.15 ? [pick(directors)] : [])];
    if (i % 211 === 5) movieDirectors.push(movieDirectors[0]); // the real data repeats names too
    const dirty = i % 97 === 13;
    const doc: Document = {
      _id: id,
      title: `The ${pick(WORDS)} ${pick(WORDS)}${i % 5 === 0 ? ` ${i}` : ""}`,
      year,
      ...(i % 31 === 7 ? {} : { released }),
      ...(i % 53 === 11 ? {} : { runtime: 60 + Math.floor(random() * 120) }),
      genres: [...new Set([pick(GENRES), pick(GENRES)])],
      cast: [...new Set(Array.from({ length: 2 + Math.floor(random() * 4) }, () => pick(actors)))],
      directors: movieDirectors,
      writers: [...new Set([pick(writers), pick(writers)])],
      countries: ["USA"],
      type: "movie",
      imdb: dirty
        ? { rating: "", votes: "", id: 100000 + i }
        : { rating: Math.round((3 + random() * 6) * 10) / 10, votes: Math.floor(random() * 200_000), id: 100000 + i },
      num_mflix_comments: 0,
    };
    const comments = Math.floor(random() * size.commentsPerMovie * 2);
    doc.num_mflix_comments = comments;
    yield { collection: "movies", doc };
    for (let c = 0; c < comments; c++) {
      const user = pick(users);
      const date = new Date(
        Date.UTC(1990 + Math.floor(random() * 30), Math.floor(random() * 12), 1 + Math.floor(random() * 28), Math.floor(random() * 24)),
      );
      yield {
        collection: "comments",
        doc: {
          _id: new ObjectId(hexId(2, i * 1000 + c)),
          name: user.name,
          email: user.email,
          movie_id: id,
          text: `${pick(WORDS)} ${pick(WORDS)}, ${pick(WORDS).toLowerCase()}.`,
          date,
        },
      };
    }
  }
  for (let i = 0; i < size.theaters; i++) {
    yield {
      collection: "theaters",
      doc: {
        _id: new ObjectId(hexId(4, i)),
        theaterId: 1000 + i,
        location: {
          address: {
            street1: `${100 + i} Main St`,
            city: pick(CITIES),
            state: pick(STATES),
            zipcode: String(10000 + Math.floor(random() * 89999)),
          },
          geo: { type: "Point", coordinates: [-120 + random() * 50, 25 + random() * 20] },
        },
      },
    };
  }
}

/** Stable ids: a kind prefix and a counter, so re-seeding the same size gives the same ids. */
function hexId(kind: number, n: number): string {
  return kind.toString(16).padStart(8, "0") + n.toString(16).padStart(16, "0");
}

export async function seedDemoData(db: Db, size: DemoSize): Promise<Record<string, number>> {
  const batches = new Map<string, Document[]>();
  const counts: Record<string, number> = {};
  const flush = async (collection: string) => {
    const batch = batches.get(collection);
    if (!batch?.length) return;
    batches.set(collection, []);
    await db.collection(collection).insertMany(batch, { ordered: false });
    counts[collection] = (counts[collection] ?? 0) + batch.length;
  };
  for (const { collection, doc } of generateDemo(size)) {
    const batch = batches.get(collection) ?? [];
    batches.set(collection, batch);
    batch.push(doc);
    if (batch.length >= 1000) await flush(collection);
  }
  for (const collection of batches.keys()) await flush(collection);
  return counts;
}

/**
 * The sentence discovery and the console show while the shipped subset is loaded: its rows are right,
 * but a newcomer asking about 1990–2021 would think they are wrong unless told what the data is.
 */
export function demoDatasetNote(counts: Record<string, number>, years: { first: number; last: number } | null): string {
  const n = (name: string) => (counts[name] ?? 0).toLocaleString("en-US");
  const span = years ? ` made between ${years.first} and ${years.last}` : "";
  return (
    `Demo data: a subset of MongoDB's sample_mflix with ${n("movies")} movies${span}, ${n("comments")} comments, ` +
    `${n("users")} users and ${n("theaters")} theaters. Reports that join comments to movies count only the ` +
    `comments on these movies, and reports about later years find little; ` +
    `point MONGODB_URI at the full data set for more (docs/operations.md).`
  );
}

/** The first and last `year` of the loaded movies (null for none). */
export async function movieYears(db: Db): Promise<{ first: number; last: number } | null> {
  const [range] = await db
    .collection("movies")
    .aggregate<{ first: number; last: number }>([
      { $match: { year: { $type: "number" } } },
      { $group: { _id: null, first: { $min: "$year" }, last: { $max: "$year" } } },
    ])
    .toArray();
  return range ? { first: range.first, last: range.last } : null;
}
