package org.fishleg.data;

import java.util.Objects;

/** Train / validation / test parts of a data set; {@code validation} is null where the data set has none. */
public record Splits(Dataset train, Dataset validation, Dataset test) {
    /**
     * Checks that train and test are present.
     * @param train the training set, not null
     * @param validation the validation set, or null
     * @param test the test set, not null
     */
    public Splits {
        Objects.requireNonNull(train, "train");
        Objects.requireNonNull(test, "test");
    }

    /**
     * True when the data set has a validation part.
     * @return whether there is a validation set
     */
    public boolean hasValidation() { return validation != null; }
}
