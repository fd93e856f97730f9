#!/usr/bin/env bash
# Checks the README's claim that one dependency line gives a working library: installs this project
# into the local Maven repository (mvn install -DskipTests), then builds and runs a throw-away consumer
# project whose pom names only org.fishleg:fishleg. The consumer trains a small auto-encoder with FishLeg
# through org.fishleg.api on the CPU (loss must fall), opens the "auto" backend (CUDA when a GPU is
# usable, else the CPU with the reason), and the script checks that the JCuda natives and the OpenBLAS
# natives for this platform arrived as transitive dependencies.
# Usage: scripts/consumer-check.sh [WORKDIR]   (default: a temporary folder, removed at the end)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
version=$(sed -n 's:^  <version>\(.*\)</version>:\1:p' pom.xml | head -1)
compiler=$(grep -A1 '<artifactId>maven-compiler-plugin</artifactId>' pom.xml | sed -n 's:.*<version>\(.*\)</version>.*:\1:p' | head -1)
work=${1:-$(mktemp -d)}
[ -n "${1:-}" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/main/java/consumer"

echo "== install org.fishleg:fishleg:$version into the local repository"
mvn -B -q install -DskipTests
jarfile="$HOME/.m2/repository/org/fishleg/fishleg/$version/fishleg-$version.jar"
if [ -f "$jarfile" ]; then
  if jar tf "$jarfile" | grep -q 'org/fishleg/cuda/fishleg_kernels.fatbin'; then
    echo "installed jar ships the CUDA kernels (org/fishleg/cuda/fishleg_kernels.fatbin) and $(jar tf "$jarfile" | grep -c 'org/fishleg/cuda/native/libcublas.so.12') cuBLAS forwarder"
  elif command -v nvcc >/dev/null; then
    echo "consumer-check: nvcc is present but the installed jar has no kernels fatbin" >&2; exit 1
  else
    echo "installed jar has no CUDA kernels (no nvcc on this machine): the CUDA backend will report 'kernels not built'"
  fi
fi

cat >"$work/pom.xml" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>consumer</groupId>
  <artifactId>consumer</artifactId>
  <version>1</version>
  <properties>
    <maven.compiler.release>17</maven.compiler.release>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <build>
    <plugins>
      <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-compiler-plugin</artifactId><version>$compiler</version></plugin>
    </plugins>
  </build>
  <dependencies>
    <dependency><groupId>org.fishleg</groupId><artifactId>fishleg</artifactId><version>$version</version></dependency>
  </dependencies>
</project>
POM

cat >"$work/src/main/java/consumer/Main.java" <<'JAVA'
package consumer;

import java.util.Random;
import org.fishleg.api.Evaluator;
import org.fishleg.api.FitOptions;
import org.fishleg.api.History;
import org.fishleg.api.Model;
import org.fishleg.backend.Activation;
import org.fishleg.backend.Backend;
import org.fishleg.backend.Backends;
import org.fishleg.data.Dataset;
import org.fishleg.optim.fishleg.FishLeg;

public final class Main {
    static Dataset blobs(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n * 64];
        for (int i = 0; i < n; i++) {
            int k = r.nextInt(4);
            for (int j = 0; j < 64; j++) x[i * 64 + j] = (j / 16 == k ? 0.8f : 0.1f) + 0.1f * r.nextFloat();
        }
        return Dataset.autoencoder("blobs", x, n, 64, null);
    }

    public static void main(String[] args) {
        try (Backend b = Backends.open("auto", System.out::println)) {
            System.out.println("auto backend: " + b.name() + " (" + b.description() + ")");
        }
        try (Model m = Model.builder().input(64).dense(32).dense(8, Activation.IDENTITY).dense(32).dense(64)
                .bernoulli().backend("cpu").seed(1).build()) {
            History h = m.fit(FishLeg.builder().preset("mnist-ae").build(), blobs(2000, 1), blobs(500, 2),
                    FitOptions.epochs(3).batchSize(100).evaluators(Evaluator.loss()));
            System.out.print(h);
            double[] t = h.test("loss");
            double first = t[0], last = t[t.length - 1];
            if (!(last < first)) throw new AssertionError("test loss did not fall: " + first + " -> " + last);
            System.out.println("consumer: FishLeg through the library API, test loss " + first + " -> " + last);
        }
    }
}
JAVA

echo "== consumer project: one dependency, org.fishleg:fishleg:$version"
cd "$work"
mvn -B -q dependency:build-classpath -Dmdep.outputFile=cp.txt
cp=$(cat cp.txt)
for jar in jcuda-natives jcublas-natives jcurand-natives openblas-.*linux-x86_64 javacpp-.*linux-x86_64; do
  if ! tr ':' '\n' <cp.txt | grep -q "/$jar[^/]*\.jar$"; then
    echo "consumer-check: $jar is not among the consumer's resolved dependencies" >&2; exit 1
  fi
done
echo "transitive natives present: jcuda, jcublas, jcurand, openblas, javacpp (linux-x86_64)"
mvn -B -q compile
java -cp "target/classes:$cp" consumer.Main
echo "consumer-check: passed"
