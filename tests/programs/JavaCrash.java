// JavaCrash.java - an uncaught exception with a cause, for ulogd's
// multiline "java" format (tests/integration/test_pipeline_corpus.py).
// The JVM's default handler prints `Exception in thread "main" ...`, the
// "at" frames, "Caused by: ..." with the cause's own frames and "... N more"
// for the frames the two share, on stderr, and exits with status 1.
import java.io.IOException;

public class JavaCrash {
    static String load(int id) throws IOException {
        throw new IOException("connection reset by peer");
    }

    static String process(int id) {
        try {
            return load(id);
        } catch (IOException e) {
            throw new IllegalStateException("order " + id + " failed", e);
        }
    }

    public static void main(String[] args) {
        System.err.println("processing order 42");
        System.out.println(process(42));
    }
}
