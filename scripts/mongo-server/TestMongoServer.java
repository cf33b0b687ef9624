import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.wire.MongoExceptionHandler;
import de.bwaldvogel.mongo.wire.MongoWireMessageEncoder;
import de.bwaldvogel.mongo.wire.MongoWireProtocolHandler;
import de.bwaldvogel.mongo.wire.MongoWireReplyEncoder;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultEventExecutorGroup;
import io.netty.util.concurrent.EventExecutorGroup;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * Starts mongo-java-server (in-memory backend) with MongoDB-shaped change streams, for development
 * and tests.
 *
 * Usage: java -cp <classpath> TestMongoServer [host] [port]
 * Prints one JSON line {"event":"listening","uri":...} on stdout once bound, then runs until
 * stdin closes or the process is signalled: a parent that dies takes the server with it.
 *
 * What differs from the stock server, and why:
 * - wire version 9 (MongoDB 4.4) in the handshake: the Node driver 7 refuses servers below it,
 *   and the stock server reports 8. Only the number changes.
 * - change events as MongoDB documents them ({@link ChangeStreamBackend}, {@link ChangeEventLog}):
 *   `ns`, `updateDescription`, `replace`, findAndModify events, postBatchResumeToken, resumable
 *   tokens, and getMore that reads only new history.
 * - awaitData on change stream getMores ({@link AwaitDataHandler}), so idle streams do not spin.
 * - commands run on a thread per connection instead of the network event loop (see below).
 * - an equality on `status` or on the leading field of a created index (with a date range on its
 *   second field), and `_id` beside other fields, answered from positions kept by value
 *   ({@link EqualityIndex}, {@link EqualityRangeIndex}, {@link ObservedMemoryCollection}), not a scan
 *   of every document: a query's cost follows what MongoDB's index would hold.
 * The network set-up below is MongoServer.bind() with those two changes.
 * Every other gap of the server stays (see docs/testing.md); product code is written against
 * real MongoDB 6+.
 */
public class TestMongoServer {
    record ReportedVersion(List<Integer> versionArray, int wireVersion) implements MongoVersion {
        public List<Integer> getVersionArray() { return versionArray; }
        public int getWireVersion() { return wireVersion; }
    }

    public static void main(String[] args) throws Exception {
        String host = args.length > 0 ? args[0] : "127.0.0.1";
        int port = args.length > 1 ? Integer.parseInt(args[1]) : 0;
        ChangeStreamBackend backend = new ChangeStreamBackend();
        backend.version(new ReportedVersion(List.of(4, 4, 0), 9));
        backend.enableOplog();

        EventLoopGroup boss = new NioEventLoopGroup(1);
        EventLoopGroup workers = new NioEventLoopGroup();
        // Commands run on a thread per connection (as in mongod), not on the network event loop:
        // the stock server runs them on the 2×cores loop threads, so one slow aggregation stalls
        // every connection that shares its thread (a worker's lease renewal waited out a report
        // on another connection). Threads start on first use; 512 keeps two live connections
        // from sharing one in any test or benchmark here.
        EventExecutorGroup commandThreads = new DefaultEventExecutorGroup(512);
        ChannelGroup clients = new DefaultChannelGroup("mongodb-channels", workers.next());
        Channel listener = new ServerBootstrap()
            .group(boss, workers)
            .channel(NioServerSocketChannel.class)
            .option(ChannelOption.SO_BACKLOG, 100)
            .localAddress(new InetSocketAddress(host, port))
            .childOption(ChannelOption.TCP_NODELAY, Boolean.TRUE)
            .childHandler(new ChannelInitializer<SocketChannel>() {
                @Override
                public void initChannel(SocketChannel channel) {
                    channel.pipeline().addLast(new MongoWireReplyEncoder());
                    channel.pipeline().addLast(new MongoWireMessageEncoder());
                    channel.pipeline().addLast(new MongoWireProtocolHandler());
                    channel.pipeline().addLast(commandThreads, new AwaitDataHandler(backend, clients));
                    channel.pipeline().addLast(new MongoExceptionHandler());
                }
            })
            .bind()
            .syncUninterruptibly()
            .channel();
        InetSocketAddress address = (InetSocketAddress) listener.localAddress();
        System.out.println("{\"event\":\"listening\",\"uri\":\"mongodb://" + address.getHostString() + ":" + address.getPort() + "/\"}");
        System.out.flush();

        Runnable shutdown = () -> {
            listener.close().syncUninterruptibly();
            clients.close().syncUninterruptibly();
            boss.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
            workers.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
            commandThreads.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
            backend.close();
        };
        Runtime.getRuntime().addShutdownHook(new Thread(shutdown));
        // Block until stdin closes (parent exited) so no orphaned servers outlive a test run.
        if (args.length > 2 && args[2].equals("--detach")) {
            Thread.currentThread().join();
        }
        while (System.in.read() != -1) { /* ignore input */ }
        System.exit(0);
    }
}
