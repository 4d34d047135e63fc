/**
 * The public surface: the named exports, and no type of the Kafka client in
 * the declarations users compile against (the design's "leaks no client
 * types" rule).
 */
import { join } from 'node:path';
import ts from 'typescript';
import * as api from '@tributary/kafka';
import type { GroupConsumer, Transport, TransportProducer } from '@tributary/core';

describe('@tributary/kafka exports', () => {
  it('exports exactly the documented runtime names', () => {
    expect(Object.keys(api).sort()).toEqual(['KAFKA_DEFAULTS', 'KAFKA_ERROR_TABLE', 'kafka', 'librdkafkaVersion']);
    expect(api.librdkafkaVersion).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('kafka() is a core Transport whose clients are core clients (compile-time check)', async () => {
    const transport: Transport = api.kafka({ brokers: ['127.0.0.1:1'] });
    const producer: TransportProducer = api.kafka({ brokers: '127.0.0.1:1' }).producer();
    const consumer: GroupConsumer = transport.groupConsumer({ groupId: 'g', topics: ['t'] });
    expect([typeof producer.send, typeof consumer.commit]).toEqual(['function', 'function']);
    await transport.close();
    await producer.close();
  });

  it('exposes no type of @confluentinc/kafka-javascript (nor of the client boundary, src/native.ts) through its exports', () => {
    const root = join(__dirname, '..');
    const index = join(root, 'src', 'index.ts');
    const program = ts.createProgram([index], {
      strict: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      esModuleInterop: true,
      skipLibCheck: true,
      noEmit: true,
      types: ['node'],
      baseUrl: join(root, '..', '..'),
      paths: { '@tributary/core': ['packages/core/src/index.ts'] },
    });
    const checker = program.getTypeChecker();
    const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(index) as ts.SourceFile) as ts.Symbol;
    const forbidden = (decl: ts.Declaration): boolean => {
      const file = decl.getSourceFile().fileName;
      return file.includes('@confluentinc') || file.endsWith(join('kafka', 'src', 'native.ts'));
    };
    const walkable = (decl: ts.Declaration): boolean => decl.getSourceFile().fileName.includes(join('packages', 'kafka', 'src'));
    const leaks = new Set<string>();
    const seen = new Set<ts.Type>();
    const visitType = (type: ts.Type, path: string): void => {
      if (seen.has(type)) return;
      seen.add(type);
      const symbols = [type.getSymbol(), type.aliasSymbol].filter((s): s is ts.Symbol => s !== undefined);
      const decls = symbols.flatMap((s) => s.getDeclarations() ?? []);
      for (const decl of decls) if (forbidden(decl)) leaks.add(`${path}: ${checker.typeToString(type)}`);
      if (type.isUnionOrIntersection()) for (const t of type.types) visitType(t, path);
      if (decls.length > 0 && !decls.some(walkable)) return; // core, lib and node types cannot reach the client
      for (const arg of checker.getTypeArguments(type as ts.TypeReference) ?? []) visitType(arg, path);
      for (const prop of checker.getPropertiesOfType(type)) {
        const decl = prop.valueDeclaration ?? prop.getDeclarations()?.[0];
        if (decl) visitType(checker.getTypeOfSymbolAtLocation(prop, decl), `${path}.${prop.getName()}`);
      }
      for (const signature of [...type.getCallSignatures(), ...type.getConstructSignatures()]) {
        for (const param of signature.getParameters()) {
          const decl = param.valueDeclaration;
          if (decl) visitType(checker.getTypeOfSymbolAtLocation(param, decl), `${path}(${param.getName()})`);
        }
        visitType(signature.getReturnType(), `${path}()`);
      }
    };
    const exported = checker.getExportsOfModule(moduleSymbol);
    for (const symbol of exported) {
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      const decl = target.getDeclarations()?.[0] as ts.Declaration;
      const type = target.flags & ts.SymbolFlags.Type ? checker.getDeclaredTypeOfSymbol(target) : checker.getTypeOfSymbolAtLocation(target, decl);
      visitType(type, symbol.getName());
    }
    expect(exported.map((s) => s.getName())).toContain('KafkaTransport');
    expect(seen.size).toBeGreaterThan(50);
    expect([...leaks]).toEqual([]);
  });
});
