import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.util.List;

/**
 * Starts mongo-java-server (in-memory backend, oplog enabled) for development and tests.
 *
 * Usage: java -cp <classpath> TestMongoServer.java [host] [port]
 * Prints one JSON line {"event":"listening","uri":...} on stdout once bound, then runs until
 * stdin closes or the process is signalled: a parent that dies takes the server with it.
 *
 * Why report wire version 9 (MongoDB 4.4): the Node driver 7 refuses servers below it, and the
 * stock server reports 8. Only the handshake number changes; every gap of the server stays
 * (see shared/design.md), and product code is written against real MongoDB 6+.
 */
public class TestMongoServer {
    record ReportedVersion(List<Integer> versionArray, int wireVersion) implements MongoVersion {
        public List<Integer> getVersionArray() { return versionArray; }
        public int getWireVersion() { return wireVersion; }
    }

    public static void main(String[] args) throws Exception {
        String host = args.length > 0 ? args[0] : "127.0.0.1";
        int port = args.length > 1 ? Integer.parseInt(args[1]) : 0;
        MemoryBackend backend = new MemoryBackend();
        backend.version(new ReportedVersion(List.of(4, 4, 0), 9));
        MongoServer server = new MongoServer(backend);
        server.enableOplog();
        server.bind(host, port);
        var address = server.getLocalAddress();
        System.out.println("{\"event\":\"listening\",\"uri\":\"mongodb://" + address.getHostString() + ":" + address.getPort() + "/\"}");
        System.out.flush();
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow));
        // Block until stdin closes (parent exited) so no orphaned servers outlive a test run.
        if (args.length > 2 && args[2].equals("--detach")) {
            Thread.currentThread().join();
        }
        while (System.in.read() != -1) { /* ignore input */ }
        server.shutdownNow();
        System.exit(0);
    }
}
