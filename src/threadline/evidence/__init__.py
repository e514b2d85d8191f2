"""Evidence packages (issue 17): a network's story, data, images and method as a signed BagIt bag.

* `package`: build one (``threadline evidence N… --db STORE -o DIR``);
* `verify`: check one (``threadline verify DIR --key PUB``): the bag's manifests and the
  detached signature of its tag manifest, naming each altered, added or missing file;
* `keys`: the installation's evidence key (``threadline keys init`` / ``show``);
* `sshsig`: OpenSSH's detached signature format, so ``ssh-keygen -Y verify`` checks a package
  without Threadline;
* `graph`: the network as GraphML and as i2 Analyst's Notebook entity and link tables.
"""
