package org.fishleg.backend.cuda;

/** Child-JVM main for {@link JCurandRenameTest}: prints CudaSupport.curandStatus(). */
public final class CurandChild {
    private CurandChild() {}

    public static void main(String[] args) {
        System.out.println("CURAND=" + CudaSupport.curandStatus());
    }
}
