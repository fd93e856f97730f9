/**
 * KFAC (Martens and Grosse 2015) for dense layers, as the KFAC/K-BFGS auto-encoder benchmark runs it: the
 * optimizer ({@link org.fishleg.optim.kfac.Kfac}), its hyper-parameters and its builder. A baseline for FishLeg.
 */
package org.fishleg.optim.kfac;
