"""What an artifact folder is: its graphs and their inputs and outputs per dtype, its JSON files, its limits, its manifest, and one check of it."""
