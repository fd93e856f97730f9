/**
 * Fisher-vector products (F + damping I) z for a flat parameter direction z, computed on the backend without
 * forming F: the generalised Gauss-Newton product ({@link org.fishleg.curvature.GaussNewton}) and the
 * paper's sampled-target Hessian product ({@link org.fishleg.curvature.SampledHessian}). FishLeg's auxiliary
 * loss uses them.
 */
package org.fishleg.curvature;
