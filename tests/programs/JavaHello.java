// JavaHello.java - Java's own output paths: System.out.println (a
// PrintStream that flushes on println), print + flush, printf,
// System.err.println.
//
// The JVM writes through FileOutputStream's native code, which calls libc's
// write(2) from libjava.so: the shim's fd-level hook sees every byte. main()
// runs on a thread of the JVM's own, not on the process's first thread.
// Exits with status 6, so the test can check that the status passes through.
public class JavaHello {
    public static void main(String[] args) {
        for (int i = 0; i < 100; i++) {
            System.out.println(String.format("System.out line %03d", i));
        }
        System.out.print("a line in ");
        System.out.flush();
        System.out.println("two pieces");
        System.out.printf("printf %d and %s%n", 42, "text");
        System.err.println("System.err line");
        System.err.print("err in ");
        System.err.println("two pieces");
        System.out.println("last System.out line");
        System.exit(6);
    }
}
