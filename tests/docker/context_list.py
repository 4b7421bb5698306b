"""List the build context docker-compose 1.29 sends for a build.

    PYTHON context_list.py CONTEXT_DIR DOCKERFILE

PYTHON is the interpreter that runs docker-compose (the shebang line of
/usr/bin/docker-compose). compose builds through docker-py's
APIClient.build, which reads CONTEXT_DIR/.dockerignore and packs the context
into a tar itself (the legacy builder: the engine never sees the ignore
file). This does the same, with the same docker-py functions, and prints
the tar's member names, one a line, sorted; directories end with "/".
"""
import io
import os
import sys
import tarfile

from docker import utils
from docker.api.build import process_dockerfile


def main():
    path, dockerfile = sys.argv[1], sys.argv[2]
    # The lines of docker.api.build.BuildApiMixin.build (docker-py 5).
    exclude = None
    dockerignore = os.path.join(path, '.dockerignore')
    if os.path.exists(dockerignore):
        with open(dockerignore) as f:
            exclude = list(filter(
                lambda x: x != '' and x[0] != '#',
                [l.strip() for l in f.read().splitlines()]))
    dockerfile = process_dockerfile(dockerfile, path)
    context = utils.tar(path, exclude=exclude, dockerfile=dockerfile)
    data = context.read()
    names = []
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for m in tar.getmembers():
            names.append(m.name + ('/' if m.isdir() else ''))
    for n in sorted(names):
        print(n)


main()
