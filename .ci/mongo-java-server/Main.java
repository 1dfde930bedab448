import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * mongo-java-server on 127.0.0.1:PORT with the in-memory backend, for deferflow's test suite.
 * The library's own ServerVersion enum reports wire version 8 at most; the Node driver 7 refuses
 * servers below wire 9, so the server claims MongoDB 5.0 (wire 13), whose commands it implements.
 */
public final class Main {
  private static final MongoVersion MONGO_5_0_WIRE_13 = new MongoVersion() {
    @Override public List<Integer> getVersionArray() { return List.of(5, 0, 0); }
    @Override public int getWireVersion() { return 13; }
  };

  public static void main(String[] args) throws InterruptedException {
    if (args.length != 1) {
      System.err.println("usage: Main PORT");
      System.exit(2);
    }
    int port = Integer.parseInt(args[0]);
    MongoServer server = new MongoServer(new MemoryBackend().version(MONGO_5_0_WIRE_13));
    server.bind("127.0.0.1", port);
    System.out.println("mongo-java-server listening on 127.0.0.1:" + port);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.shutdownNow();
      stopped.countDown();
    }));
    stopped.await();
  }
}
